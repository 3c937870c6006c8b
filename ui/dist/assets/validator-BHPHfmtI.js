import{S as i}from"./index-C7tZBRkV.js";const n=o=>["",...i].includes(o);export{n as i};
