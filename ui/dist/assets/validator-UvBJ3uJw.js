import{an as i}from"./index-CiPCe33D.js";const e=o=>["",...i].includes(o);export{e as i};
