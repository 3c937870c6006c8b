import{a3 as i}from"./index-TJC-oSZs.js";const n=o=>["",...i].includes(o);export{n as i};
