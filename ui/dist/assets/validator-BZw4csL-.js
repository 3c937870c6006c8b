import{a0 as i}from"./index-DalWC8sz.js";const n=o=>["",...i].includes(o);export{n as i};
